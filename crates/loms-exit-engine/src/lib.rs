//! LOMS exit policies: pure decisions to close a position or move its stops
