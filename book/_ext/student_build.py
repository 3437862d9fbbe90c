"""The student edition of the book: every exercise solution removed from the pages.

Loaded only by `make book STUDENT=1`, through the configuration that tools/student_book.py writes.
sphinx-exercise's own ``hide_solutions`` option is not enough: it drops the ``solution-start``
directive but leaves its ``solution-end`` node, which no HTML writer knows (the build fails), and
it would leave the prose and code cells between the two in the page. This transform runs after
sphinx-exercise has merged each gated solution into one node and removes solution nodes whole, so
both forms of solution go.
"""

from sphinx.transforms import SphinxTransform
from sphinx_exercise.nodes import solution_end_node, solution_node, solution_start_node
from sphinx_exercise.transforms import MergeGatedSolutions


class RemoveSolutions(SphinxTransform):
    default_priority = MergeGatedSolutions.default_priority + 1

    def apply(self):
        for node in list(self.document.findall(solution_node)):
            node.parent.remove(node)
        # A start without its end (a malformed chapter) is not merged: remove it too, and say so.
        for kind in (solution_start_node, solution_end_node):
            for node in list(self.document.findall(kind)):
                self.document.reporter.warning(f"unmatched {kind.__name__} removed", base_node=node)
                node.parent.remove(node)


def setup(app):
    app.setup_extension("sphinx_exercise")
    app.add_transform(RemoveSolutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
