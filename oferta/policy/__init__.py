from oferta.policy.loader import PolicyError, load_policies, load_policy, policy_dir
from oferta.policy.schema import Policy, Term, TimeUnit

__all__ = ["Policy", "PolicyError", "Term", "TimeUnit", "load_policies", "load_policy", "policy_dir"]
