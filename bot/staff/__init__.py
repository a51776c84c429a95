"""The staff side of Tier 2: the officers' queue (`desk`) and its command line (`cli`)."""
