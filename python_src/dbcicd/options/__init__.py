"""What the user asked for: the request document (task inputs, connections, pipeline variables) and the build."""
