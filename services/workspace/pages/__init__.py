"""One module per page (or pair of pages), each a router built from the shared `Web`."""
