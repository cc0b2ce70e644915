"""What operators see of the service itself: metrics, request ids and structured logs."""
