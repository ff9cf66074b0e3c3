"""meet_api: the REST API that XOMA calls (Litestar); see :func:`meet_api.app.create_app`."""
