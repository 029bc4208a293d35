"""The simulator's self-test suites; run them through test/sim/test_storcon_sim.py."""
