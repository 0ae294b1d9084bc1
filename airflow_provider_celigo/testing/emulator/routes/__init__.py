"""API route groups of the emulator, each an APIRouter; ``app.API_ROUTERS`` lists them in match order."""
