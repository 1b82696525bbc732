"""Command palette (ctrl+p): every action with a description on the screen, searchable."""
from __future__ import annotations

from functools import partial

from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.widget import Widget

Actor = Widget | App  # what runs an action: the screen, a widget on it, or the app


def _actions(screen) -> list[tuple[str, str, Actor, str]]:
    """(description, keys, node, action) declared by ragtui's own classes on this screen.

    Only our classes' own BINDINGS: inherited ones (TextArea's cut/paste…) would bury
    the app's actions; the first widget of a class stands for all (one per action).
    """
    found: dict[tuple[type, str], tuple[str, str, Actor, str]] = {}
    for node in [screen, *screen.walk_children(), screen.app]:
        if not type(node).__module__.startswith("ragtui."):
            continue
        for binding in Binding.make_bindings(type(node).__dict__.get("BINDINGS", [])):
            slot = (type(node), binding.action)
            if not binding.description:
                continue
            if slot in found:
                description, keys, first, action = found[slot]
                if first is node and binding.key not in keys.split(", "):
                    found[slot] = (description, f"{keys}, {binding.key}", first, action)
            else:
                found[slot] = (binding.description, binding.key, node, binding.action)
    return sorted(found.values(), key=lambda item: item[0])


class ActionsProvider(Provider):
    async def _run(self, node: Actor, action: str) -> None:
        await node.run_action(action)

    async def discover(self) -> Hits:
        for description, keys, node, action in _actions(self.screen):
            yield DiscoveryHit(description, partial(self._run, node, action), help=keys)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for description, keys, node, action in _actions(self.screen):
            score = matcher.match(description)
            if score > 0:
                yield Hit(score, matcher.highlight(description), partial(self._run, node, action), help=keys)
