from .errors import ApiError


class WorkspaceApi:
    def __init__(self, tree):
        self.tree = tree

    def __getattr__(self, name):
        def handler(req):
            raise ApiError(501, "NOT_IMPLEMENTED", "todo")

        return handler
