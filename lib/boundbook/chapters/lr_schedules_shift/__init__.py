"""Chapter package: lr_schedules_shift (Learning-rate schedules under distribution shift)."""
