"""What a rule is made of: the Rule base class, its context, root causes."""
