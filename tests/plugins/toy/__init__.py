"""A plug-in model family that lives outside statmech/: independent spins in a field.

Registered with ``STATMECH_MODELS="toy=toy.model:Paramagnet,toy-bare=toy.model:BareParamagnet"``
(this folder on ``PYTHONPATH``); see docs/adding-a-model.md.
"""
