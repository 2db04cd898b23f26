"""Risk models: pure maths over return arrays."""
