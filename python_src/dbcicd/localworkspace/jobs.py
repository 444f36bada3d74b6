from .errors import ApiError


class Jobs:
    def __init__(self, ws):
        self.ws = ws

    def shutdown(self):
        pass

    def __getattr__(self, name):
        def handler(req):
            raise ApiError(501, "NOT_IMPLEMENTED", "todo")

        return handler
