"""The Run dock: run the current file or the folder's tests, see the output with links."""
