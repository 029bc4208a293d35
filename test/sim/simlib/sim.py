"""The simulator object: the state (state.py) with every route family and the knobs mixed in.

Why this file exists: routes live in one file per concern; this is where they meet.  Routes are
registered by the @route decorator (state.py) and dispatched by method name on this class.
"""

from .knobs import KnobRoutes
from .reconcile import ReconcileMixin
from .routes_control import ControlRoutes
from .routes_nodes import NodeRoutes
from .routes_safekeepers import SafekeeperRoutes
from .routes_shards import ShardRoutes
from .routes_sk_timelines import SafekeeperTimelineRoutes
from .routes_tenants import TenantRoutes
from .routes_timelines import TimelineRoutes
from .state import SimCore


class Sim(ControlRoutes, NodeRoutes, SafekeeperRoutes, TenantRoutes, ShardRoutes, TimelineRoutes,
          SafekeeperTimelineRoutes, KnobRoutes, ReconcileMixin, SimCore):
    pass
