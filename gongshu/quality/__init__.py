"""Quality audit (稽核): GB/T 36344 rules, scores, the monthly quality report, tickets and the cockpit."""
