"""storcon_sim's modules: an in-memory simulator of Neon's storage controller (storcon).

errors.py    error answers and JSON output shaped like storcon's
parsing.py   serde-like request parsing, request structs, identifiers
timing.py    storcon's delays and timeouts, scaled by --time-scale; tenant operation locks
hook.py      the compute hook client (notify-attach, notify-safekeepers, import_complete)
state.py     the in-memory state, request log, faults, dispatch, scheduling helpers
reconcile.py per-shard reconcilers: attach, live migration, pending notification retries
routes_*.py  storcon's HTTP routes, one concern per file
knobs.py     the /__sim/ test knobs
server.py    HTTP plumbing
sim.py       the Sim class that puts them together
"""
