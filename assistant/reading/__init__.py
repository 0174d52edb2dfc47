"""Reading: files, folders and uploads in, articles and passages out. articles.py reads native
and JSON Lines files (read_apart.py in a child process), boilerplate.py drops page furniture,
chunking.py cuts passages, words.py is how search, the rankers and the lead read words.

Imports only the top-level leaves config, errors and types.
"""
