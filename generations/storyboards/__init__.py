"""Storyboards: services (services.py), the driver that advances boards
(driver.py), frame extraction (frames.py) and film stitching (stitch.py, film.py)."""
