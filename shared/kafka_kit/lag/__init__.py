"""Consumer lag and its monitoring, after LinkedIn's Burrow: windows of commits, judged by rules."""
