"""What a forecast checks about itself before anyone relies on it: the fit, curvature, trend reversal, the verdict."""
