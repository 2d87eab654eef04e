"""The DynamoDB side: one table base (``table``) and a store per table (jobs, tokens, runs,
sites). Every status change is a conditional write."""
