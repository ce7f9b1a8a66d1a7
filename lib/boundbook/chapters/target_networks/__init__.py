"""Chapter package: target_networks, partially fitted TD with a target network (Fellows et al.)."""
