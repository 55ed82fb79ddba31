"""The state's student rosters: the denominators of attainment reports (who is enrolled, where,
in which cohort, pathway and subgroups)."""
