"""Custom models: Modelfiles, create requests, definition comparison, local blobs."""
