"""Qt helpers shared by every feature's widgets."""
