"""Crisis radar: burst detection, spread forecast, story risk and alerts (pure; see docs/radar.md).

The pipeline feeds ``Radar.observe`` batches of (Post, Enrichment) and gets ``Alert`` objects.
"""

from townhall.radar.alerts import Alert
from townhall.radar.bursts import Burst, BurstDetector, NaiveDetector
from townhall.radar.cascades import Cascade, Reshare, parse_cascade, simulate_cascades
from townhall.radar.forecast import (
    CascadeTracker,
    Forecast,
    ForecastModel,
    default_forecaster,
    seismic_plain,
)
from townhall.radar.incidents import incident_kinds
from townhall.radar.replay import Incident, Radar, RadarSettings
from townhall.radar.risk import Risk, StoryFacts, story_risk

__all__ = [
    "Alert",
    "Burst",
    "BurstDetector",
    "Cascade",
    "CascadeTracker",
    "Forecast",
    "ForecastModel",
    "Incident",
    "NaiveDetector",
    "Radar",
    "RadarSettings",
    "Reshare",
    "Risk",
    "StoryFacts",
    "default_forecaster",
    "incident_kinds",
    "parse_cascade",
    "seismic_plain",
    "simulate_cascades",
    "story_risk",
]
