"""Export tax refund (出口退税) workflow in the hub: filing, tax/bank integration, clocks, alerts,
board, public query and reports. See docs/refunds-workflow.md."""
