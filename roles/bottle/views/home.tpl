{% raw %}<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{{role_name}}</title>
  <link rel="stylesheet" href="/static/site.css">
</head>
<body>
  <main>
    <h1>{{role_name}}</h1>
    <p>This Bottle web role is running.</p>
    <p>The page comes from <code>views/home.tpl</code>, served by <code>home()</code> in
      <code>webapp.py</code>.</p>
    <h2>Answered by</h2>
    <dl>
% for label, value in instance:
      <dt>{{label}}</dt>
      <dd>{{value}}</dd>
% end
    </dl>
  </main>
</body>
</html>
{% endraw %}
