"""One package per provider behind the small interface in base.py; `registry.adapter_for` finds one."""
