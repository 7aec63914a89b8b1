"""Operations: the provider circuit breaker, shared counters, metrics, backups."""
