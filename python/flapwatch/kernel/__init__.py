"""What the Linux kernel does that the rest must agree on: linkwatch's timing, used by
the simulator to produce link messages and by the classifier to bound hidden flaps."""
