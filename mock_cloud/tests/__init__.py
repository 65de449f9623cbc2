"""Self-tests of the mock server: real HTTP against a mock started once per test session."""
