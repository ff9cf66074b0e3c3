"""Google area: Meet conference data harvested into the app database."""
