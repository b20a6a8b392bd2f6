//! Placeholder module; filled in by its implementation step.
