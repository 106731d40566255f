"""The contract the two example services share: the event schema and its topic
(:mod:`event_contract.events`)."""
