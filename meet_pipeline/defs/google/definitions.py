"""Google area: conference records harvested from Meet, and the daily final sweep."""

import dagster as dg

from meet_pipeline.defs.google.assets import conference_records
from meet_pipeline.defs.google.schedules import harvest_yesterday

defs = dg.Definitions(assets=[conference_records], schedules=[harvest_yesterday])
