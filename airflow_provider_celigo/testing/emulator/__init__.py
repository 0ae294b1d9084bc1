"""A local Celigo integrator.io emulator (FastAPI): ``server.EmulatorServer``, ``cli.main``, ``client.EmulatorAdmin``.

Nothing is imported here so that ``celigo-emulator`` starts fast; import the submodule you need.
"""
