"""``forecast explore``: an interactive what-if workbench. :mod:`forecast.explore.state` holds the state behind it
(:class:`~forecast.explore.state.Workbench`: one warm session, every control change evaluated the way
``forecast whatif`` evaluates it); the browser page reads only that."""
