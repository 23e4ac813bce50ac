"""What people read: fan and bucket charts, the risk-review report, numbers formatted for a reviewer."""
