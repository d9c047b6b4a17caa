"""Answer: ask (search + abstain) and citations."""
