"""Peer engines, each run in the peers' own virtualenv (see ``setup_peers.sh``)."""
