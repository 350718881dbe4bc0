"""Part V, What the Papers Did Not Test: our own experiments on the dark matter, e.g. which of its
parts is pathological for the model when spliced in."""
