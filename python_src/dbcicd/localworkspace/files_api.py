from .errors import ApiError


class _Todo:
    def __init__(self, root):
        self.root = root

    def __getattr__(self, name):
        def handler(req):
            raise ApiError(501, "NOT_IMPLEMENTED", "todo")

        return handler


class Files(_Todo):
    pass


class Dbfs(_Todo):
    pass
