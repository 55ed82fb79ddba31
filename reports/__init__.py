"""Attainment reports: suppression of small cells, rosters' place in the counts, priority lists."""
