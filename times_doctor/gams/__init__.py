"""What GAMS and TIMES write and read: listings, banners and probes, sources, run dirs."""
