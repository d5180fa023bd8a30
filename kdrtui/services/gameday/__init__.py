"""Game days: scripted incident scenarios run on the lab, measured, and written up (``kdrtui gameday``)."""
