"""API route groups of the emulator, each an APIRouter; ``API_ROUTERS`` lists them in match order."""
