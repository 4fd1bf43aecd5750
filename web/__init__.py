"""HTTP edge of the server: pure ASGI guards that sit in front of every route (body sizes,
allowed origins, security headers, client IPs) and the request-error handlers. Ground floor:
imports settings.py and errors.py only, never another package of ours."""
