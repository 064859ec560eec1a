"""State changes and the queries behind them: one transaction each, writing the outbox."""
